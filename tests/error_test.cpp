// kd::Error composes file, key, expected and got into one message.
#include "common/util/error.h"

#include <gtest/gtest.h>

TEST(Error, ComposesAllFields) {
  kd::Error e = kd::Error("tensor has the wrong shape").file("m.safetensors").key("w").expected("[4]").got("[3]");
  EXPECT_STREQ(e.what(), "m.safetensors: 'w': tensor has the wrong shape (expected [4], got [3])");
}

TEST(Error, PlainMessage) {
  EXPECT_STREQ(kd::Error("nothing to do").hint("pass --force").what(), "nothing to do; pass --force");
}
