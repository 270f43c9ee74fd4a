// libvips's one-time initialisation, for the renderer and for code that draws or saves images with libvips itself
// (the demo's scenes, tests). Defined in image_decode.cpp.
#pragma once

namespace kd {

// Makes sure libvips is initialised (once per process; thread-safe). Throws kd::Error when it cannot be. It also
// routes libvips's warnings through kd (common/util/library_warnings.h): counted per kind, not printed per image.
void ensure_vips_initialized();

}  // namespace kd
