// Status and Result<T>: errors a user can cause (a bad file, model, config or sample) are
// values, not crashes. A failed Status carries one human-readable message that names the file,
// the layer (name and id) or the config key, and the fact. Programmer errors use glog CHECK.
//
// Thread-safety: plain values; safe to copy between threads.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace ptqflow {

class Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(std::string message) { return Status(std::move(message)); }

  bool ok() const { return !message_.has_value(); }
  // By value: `result.status().message()` must not dangle.
  std::string message() const { return message_ ? *message_ : std::string(); }
  // Returns a copy whose message is "<context>: <message>" (no-op when ok).
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    return Status(context + ": " + *message_);
  }

 private:
  explicit Status(std::string message) : message_(std::move(message)) {}
  std::optional<std::string> message_;
};

// Either a value or a failed Status.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT(runtime/explicit)
  Result(Status status) : v_(std::move(status)) {}  // NOLINT(runtime/explicit)

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace ptqflow

// Propagate a failed Status from an expression returning Status.
#define PTQ_RETURN_IF_ERROR(expr)       \
  do {                                  \
    ::ptqflow::Status _ptq_st = (expr); \
    if (!_ptq_st.ok()) return _ptq_st;  \
  } while (0)

#define PTQ_CONCAT_INNER(a, b) a##b
#define PTQ_CONCAT(a, b) PTQ_CONCAT_INNER(a, b)
// lhs = value of a Result<T> expression, or return its Status.
#define PTQ_ASSIGN_OR_RETURN(lhs, expr) \
  PTQ_ASSIGN_OR_RETURN_IMPL(PTQ_CONCAT(_ptq_res_, __LINE__), lhs, expr)
#define PTQ_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
