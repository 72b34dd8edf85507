#include "io/config/proto_json.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "proto/dataset.pb.h"

namespace ptqflow::io {
namespace {

Result<proto::DatasetConfig> FromText(const std::string& text) {
  PTQ_ASSIGN_OR_RETURN(JsonValue j, ParseJson(text, "cfg.json"));
  proto::DatasetConfig c;
  PTQ_RETURN_IF_ERROR(JsonToMessage(j, &c, "dataset", "cfg.json"));
  return c;
}

TEST(ProtoJsonTest, FillsNestedScalarsAndRepeated) {
  auto c = FromText(R"({"image": {"source": "imgs/", "height": 224, "width": 200,
                       "mean": [1, 2.5, 3], "central_fraction": 0.875, "color": "rgb"}})");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_TRUE(c->has_image());
  EXPECT_EQ(c->image().source(), "imgs/");
  EXPECT_EQ(c->image().height(), 224);
  EXPECT_EQ(c->image().width(), 200);
  ASSERT_EQ(c->image().mean_size(), 3);
  EXPECT_FLOAT_EQ(c->image().mean(1), 2.5f);
  EXPECT_DOUBLE_EQ(c->image().central_fraction(), 0.875);
  EXPECT_EQ(c->image().color(), "rgb");
  EXPECT_FALSE(c->image().has_border());  // unset optional keeps "unset"
}

TEST(ProtoJsonTest, UnknownKeySuggestsNearestAndNamesPath) {
  auto c = FromText(R"({"image": {"source": "x", "heigth": 224}})");
  ASSERT_FALSE(c.ok());
  const std::string m = c.status().message();
  EXPECT_NE(m.find("cfg.json:1"), std::string::npos) << m;
  EXPECT_NE(m.find("'dataset.image'"), std::string::npos) << m;
  EXPECT_NE(m.find("unknown key 'heigth'"), std::string::npos) << m;
  EXPECT_NE(m.find("did you mean 'height'"), std::string::npos) << m;
}

TEST(ProtoJsonTest, WrongTypesAndRangesNameTheKey) {
  struct Case {
    const char* json;
    const char* expect;
  } cases[] = {
      {R"({"image": {"height": "224"}})", "'dataset.image.height': expected an integer"},
      {R"({"image": {"height": 22.5}})", "'dataset.image.height': expected an integer"},
      {R"({"image": {"height": 3000000000}})", "out of range"},
      {R"({"image": {"mean": 3}})", "'dataset.image.mean': expected an array, got number"},
      {R"({"image": {"mean": [1, "a"]}})", "'dataset.image.mean[1]': expected a number"},
      {R"({"image": {"source": null}})", "'dataset.image.source': null is not a value"},
      {R"({"image": 5})", "'dataset.image': expected an object"},
      {R"({"audio": {"resample": 1}})", "'dataset.audio.resample': expected a boolean"},
      {R"({"image": {"source": "a"}, "audio": {"source": "b"}})",
       "'dataset.image' and 'dataset.audio' exclude each other"},
  };
  for (const Case& k : cases) {
    auto c = FromText(k.json);
    ASSERT_FALSE(c.ok()) << k.json;
    EXPECT_NE(c.status().message().find(k.expect), std::string::npos)
        << k.json << " -> " << c.status().message();
  }
}

TEST(ProtoJsonTest, EnumsByNameCaseInsensitively) {
  JsonValue j = *ParseJson(R"({"name": "alpha", "type": "floats", "floats": [1, 2]})");
  onnx::AttributeProto a;
  ASSERT_TRUE(JsonToMessage(j, &a).ok());
  EXPECT_EQ(a.type(), onnx::AttributeProto::FLOATS);
  JsonValue bad = *ParseJson(R"({"type": "floatz"})");
  Status st = JsonToMessage(bad, &a, "attr");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("'attr.type': 'floatz' is not one of"), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("'FLOATS'"), std::string::npos) << st.message();
}

TEST(ProtoJsonTest, SetFieldFromStringByPath) {
  proto::DatasetConfig c;
  ASSERT_TRUE(SetFieldFromString(&c, "image.height", "32", "--x").ok());
  ASSERT_TRUE(SetFieldFromString(&c, "image.mean", "[1.5, 2,3]", "--x").ok());
  ASSERT_TRUE(SetFieldFromString(&c, "image.scale", "255", "--x").ok());
  ASSERT_TRUE(SetFieldFromString(&c, "image.annotations.class_labels_file", "l.txt", "--x").ok());
  EXPECT_EQ(c.image().height(), 32);
  ASSERT_EQ(c.image().mean_size(), 3);
  EXPECT_FLOAT_EQ(c.image().mean(0), 1.5f);
  EXPECT_FLOAT_EQ(c.image().mean(2), 3.0f);
  ASSERT_EQ(c.image().scale_size(), 1);
  EXPECT_EQ(c.image().annotations().class_labels_file(), "l.txt");

  proto::DatasetConfig a;
  ASSERT_TRUE(SetFieldFromString(&a, "audio.resample", "yes", "--x").ok());
  EXPECT_TRUE(a.audio().resample());

  Status st = SetFieldFromString(&c, "image.widht", "3", "--data-option");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("--data-option"), std::string::npos);
  EXPECT_NE(st.message().find("did you mean 'width'"), std::string::npos) << st.message();
  st = SetFieldFromString(&c, "image.height", "tall", "--x");
  EXPECT_NE(st.message().find("'image.height': 'tall' is not an integer"), std::string::npos)
      << st.message();
  st = SetFieldFromString(&c, "image", "3", "--x");
  EXPECT_NE(st.message().find("is a section"), std::string::npos) << st.message();
  st = SetFieldFromString(&c, "image.height.x", "3", "--x");
  EXPECT_NE(st.message().find("has no sub-keys"), std::string::npos) << st.message();
  st = SetFieldFromString(&c, "audio.window", "5", "--x");
  EXPECT_NE(st.message().find("exclude each other"), std::string::npos) << st.message();
}

TEST(ProtoJsonTest, SplitOptionListKeepsBracketedCommas) {
  auto items = SplitOptionList("height=224,mean=[1,2,3],layout=nhwc", "--o");
  ASSERT_TRUE(items.ok()) << items.status().message();
  ASSERT_EQ(items->size(), 3u);
  EXPECT_EQ((*items)[1].first, "mean");
  EXPECT_EQ((*items)[1].second, "[1,2,3]");
  EXPECT_TRUE(SplitOptionList("", "--o")->empty());
  EXPECT_FALSE(SplitOptionList("a=1,a=2", "--o").ok());
  EXPECT_FALSE(SplitOptionList("a", "--o").ok());
  EXPECT_FALSE(SplitOptionList("=3", "--o").ok());
  EXPECT_FALSE(SplitOptionList("m=[1,2", "--o").ok());
  EXPECT_FALSE(SplitOptionList("m=1]", "--o").ok());
}

TEST(ProtoJsonTest, NearestName) {
  EXPECT_EQ(NearestName("heigth", {"height", "width"}), "height");
  EXPECT_EQ(NearestName("zzzzzzzz", {"height", "width"}), "");
}

TEST(ProtoJsonTest, MessageToJsonPrintsProtoNames) {
  proto::DatasetConfig c;
  c.mutable_idx()->set_images_file("a.gz");
  c.mutable_idx()->set_border(2);
  const std::string j = MessageToJson(c);
  EXPECT_NE(j.find("\"images_file\": \"a.gz\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"border\": 2"), std::string::npos) << j;
  EXPECT_EQ(j.find("normalize"), std::string::npos) << j;  // unset optional omitted
  // Round trip through our own filler.
  proto::DatasetConfig back;
  ASSERT_TRUE(JsonToMessage(*ParseJson(j), &back).ok());
  EXPECT_EQ(back.SerializeAsString(), c.SerializeAsString());
}

}  // namespace
}  // namespace ptqflow::io
