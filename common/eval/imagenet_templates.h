// The text of pipelines/zeroshot/imagenet-templates.txt (CLIP's 80 ImageNet prompt templates, one a line), compiled
// into kd by CMake (the definition is generated into the build folder from that file).
#pragma once

namespace kd {

const char* imagenet_templates_text();

}  // namespace kd
