// Float32 that really is float32 on CUDA. LibTorch lets cuDNN convolutions (CLIP's patch embedding) run in TF32 by
// default, which moves a ViT's embeddings by ~1e-3 relative; kd's teacher and evaluation promise fp32 results that
// match OpenAI's code within 1e-4, so they turn TF32 off for cuBLAS and cuDNN. Process-wide (a LibTorch setting);
// training keeps LibTorch's defaults.
#pragma once

namespace kd {

// Disallows TF32 in cuBLAS matmuls and cuDNN convolutions for this process. No effect on CPU-only builds.
void use_strict_fp32_on_cuda();

}  // namespace kd
