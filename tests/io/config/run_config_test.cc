#include "io/config/run_config.h"

#include <gtest/gtest.h>

namespace ptqflow::io {
namespace {

// A POT config as POT's documentation writes them (comments allowed).
const char* kPotConfig = R"({
  /* model */
  "model": {"model_name": "mobilenet", "model": "m.xml", "weights": "m.bin"},
  "engine": {"type": "simplified", "data_source": "images/", "layout": "NCHW"},
  "compression": {
    "target_device": "CPU",  // trailing comma below is accepted too
    "algorithms": [{
      "name": "DefaultQuantization",
      "params": {
        "preset": "mixed", "stat_subset_size": 300, "shuffle_data": true, "seed": 7,
        "ignored": {"scope": ["conv1"], "operations": [{"type": "Convolution",
                    "attributes": {"output": 1280, "group": "1"}}]},
        "activations": {"range_estimator": {"preset": "quantile",
                        "max": {"aggregator": "max", "outlier_prob": 0.001}}},
        "weights": {"bits": 4, "mode": "asymmetric", "granularity": "perchannel"},
      }
    }]
  }
})";

std::string Err(const std::string& text) {
  auto c = ParseRunConfig(text, "cfg.json");
  return c.ok() ? std::string("<ok>") : c.status().message();
}

std::string WithParams(const std::string& name, const std::string& params) {
  return R"({"model": {"model": "m.xml"}, "engine": {"type": "simplified", "data_source": "d"},
            "compression": {"algorithms": [{"name": ")" +
         name + R"(", "params": )" + params + "}]}}";
}

TEST(RunConfigTest, LoadsPotConfig) {
  auto c = ParseRunConfig(kPotConfig, "pot.json");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->model().model(), "m.xml");
  EXPECT_EQ(c->engine().data_source(), "images/");
  ASSERT_EQ(c->compression().algorithms_size(), 1);
  const proto::AlgorithmParams& p = c->compression().algorithms(0).params();
  EXPECT_EQ(p.preset(), "mixed");
  EXPECT_EQ(p.stat_subset_size(), 300u);
  EXPECT_TRUE(p.shuffle_data());
  EXPECT_EQ(p.seed(), 7u);
  EXPECT_FALSE(p.has_use_fast_bias());  // default applies later
  ASSERT_EQ(p.ignored().operations_size(), 1);
  EXPECT_EQ(p.ignored().operations(0).attributes().at("output"), "1280");
  EXPECT_EQ(p.ignored().operations(0).attributes().at("group"), "1");
  EXPECT_EQ(p.activations().range_estimator().preset(), "quantile");
  EXPECT_EQ(p.activations().range_estimator().max().aggregator(), "max");
  EXPECT_DOUBLE_EQ(p.activations().range_estimator().max().outlier_prob(), 0.001);
  EXPECT_EQ(p.weights().bits(), 4);
}

TEST(RunConfigTest, UnknownKeysNameThePathAndTheNearestKey) {
  std::string m = Err(WithParams("DefaultQuantization", R"({"stat_subset_sise": 3})"));
  EXPECT_NE(m.find("cfg.json:"), std::string::npos) << m;
  EXPECT_NE(m.find("'compression.algorithms[0].params'"), std::string::npos) << m;
  EXPECT_NE(m.find("did you mean 'stat_subset_size'"), std::string::npos) << m;
  m = Err(R"({"modle": {}})");
  EXPECT_NE(m.find("did you mean 'model'"), std::string::npos) << m;
}

TEST(RunConfigTest, ValuesAreChecked) {
  struct Case {
    std::string params, expect;
  } cases[] = {
      {R"({"preset": "fast"})", "'compression.algorithms[0].params.preset': unknown value 'fast'"},
      {R"({"weights": {"bits": 1}})",
       "'compression.algorithms[0].params.weights.bits': must be >= 2"},
      {R"({"activations": {"mode": "sym"}})", "activations.mode': unknown value 'sym'"},
      {R"({"range_estimator": {"max": {"aggregator": "meen"}}})", "did you mean 'mean'"},
      {R"({"range_estimator": {"min": {"outlier_prob": 1.5}}})",
       "outlier_prob': must be in [0, 1)"},
      {R"({"saturation_fix": "some"})", "saturation_fix': unknown value 'some'"},
      {R"({"target_device": "NPU"})", "NPU has no hardware config"},
      {R"({"maximal_drop": 0.01})",
       "params.maximal_drop': not a parameter of DefaultQuantization (it belongs to "
       "AccuracyAwareQuantization)"},
      {R"({"stat_batch_size": 4})", "only 1 is supported"},
      {R"({"weights": {"level_low": 5, "level_high": -5}})", "must be below level_high"},
      {R"({"ignored": {"operations": [{"attributes": {}}]}})", "operations[0].type' is required"},
  };
  for (const Case& k : cases) {
    const std::string m = Err(WithParams("DefaultQuantization", k.params));
    EXPECT_NE(m.find(k.expect), std::string::npos) << k.params << " -> " << m;
  }
}

TEST(RunConfigTest, AlgorithmNames) {
  EXPECT_EQ(Err(WithParams("MinMaxQuantization", "{}")), "<ok>");
  EXPECT_EQ(Err(WithParams("AccuracyAwareQuantization", R"({"maximal_drop": 0.005})")), "<ok>");
  std::string m = Err(WithParams("DefaultQuantisation", "{}"));
  EXPECT_NE(m.find("did you mean 'DefaultQuantization'"), std::string::npos) << m;
  m = Err(WithParams("OutlierChannelSplitting", "{}"));
  EXPECT_NE(m.find("not supported by ptqflow"), std::string::npos) << m;
  m = Err(WithParams("AccuracyAwareQuantization", R"({"drop_type": "percent"})"));
  EXPECT_NE(m.find("drop_type': unknown value 'percent'"), std::string::npos) << m;
}

TEST(RunConfigTest, EngineAndModelSections) {
  std::string m = Err(R"({"model": {"model": "m.xml"}, "engine": {"config": "ac.yml"},
                          "compression": {"algorithms": [{"name": "DefaultQuantization"}]}})");
  EXPECT_NE(m.find("Accuracy Checker engine is not supported"), std::string::npos) << m;
  m = Err(R"({"model": {"model": "m.xml"}, "engine": {"type": "simplified"},
              "compression": {"algorithms": [{"name": "DefaultQuantization"}]}})");
  EXPECT_NE(m.find("'engine.data_source' is required"), std::string::npos) << m;
  m = Err(R"({"engine": {"type": "simplified", "data_source": "d"},
              "compression": {"algorithms": [{"name": "DefaultQuantization"}]}})");
  EXPECT_NE(m.find("'model.model' is required"), std::string::npos) << m;
  m = Err(R"({"model": {"model": "m.xml"}, "engine": {"type": "simplified", "data_source": "d"},
              "compression": {"algorithms": []}})");
  EXPECT_NE(m.find("at least one algorithm"), std::string::npos) << m;
  m = Err(R"({"model": {"model": "m.onnx"},
              "engine": {"dataset": {"idx": {"images_file": "x.gz"}},
                         "metrics": [{"type": "top_k"}]},
              "compression": {"algorithms": [{"name": "DefaultQuantization"}]}})");
  EXPECT_NE(m.find("'engine.metrics[0].top_k': required"), std::string::npos) << m;
  EXPECT_EQ(Err(R"({"model": {"model": "m.onnx"},
                   "engine": {"dataset": {"idx": {"images_file": "x.gz"}},
                              "metrics": [{"type": "accuracy"}]},
                   "compression": {"algorithms": [{"name": "DefaultQuantization"}]}})"),
            "<ok>");
}

TEST(RunConfigTest, PotTemplates) {
  auto d = PotTemplate("default");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->compression().algorithms(0).name(), "DefaultQuantization");
  EXPECT_EQ(d->compression().algorithms(0).params().preset(), "performance");
  EXPECT_EQ(d->compression().algorithms(0).params().stat_subset_size(), 300u);
  EXPECT_EQ(d->compression().target_device(), "ANY");
  auto a = PotTemplate("accuracy_aware");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->compression().algorithms(0).name(), "AccuracyAwareQuantization");
  EXPECT_DOUBLE_EQ(a->compression().algorithms(0).params().maximal_drop(), 0.01);
  EXPECT_FALSE(PotTemplate("fast").ok());
  // A template with model and data filled in validates.
  d->mutable_model()->set_model("m.xml");
  d->mutable_engine()->set_type("simplified");
  d->mutable_engine()->set_data_source("imgs");
  EXPECT_TRUE(ValidateRunConfig(*d).ok()) << ValidateRunConfig(*d).message();
}

}  // namespace
}  // namespace ptqflow::io
