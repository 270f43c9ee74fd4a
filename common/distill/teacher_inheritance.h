// --init-from-teacher: a student tower inherits the teacher's weights although its shapes are smaller (TinyCLIP's
// weight inheritance, done by rule rather than learnt masks). docs/training.md shows the rule with the seed presets.
//
//   layers   student layer i <- teacher layer round(i·(Lt−1)/(Ls−1)) (evenly spaced, first and last kept; Ls = 1:
//            layer 0). Needs Ls <= Lt.
//   width    the leading Ws of the teacher's Wt residual channels: embeddings, LayerNorms, conv1's output channels,
//            out_proj / c_proj rows, c_fc / in_proj columns, the projection's rows. Needs Ws <= Wt.
//   MLP      the leading Ms of the teacher's Mt hidden units (c_fc rows, c_proj columns). Needs Ms <= Mt.
//   heads    student head h (head width ds = Ws/Hs) reads teacher head t = floor(h·Ht/Hs) (head width dt = Wt/Ht);
//            the j-th student head on teacher head t takes that head's channels [j·ds, (j+1)·ds). The same channels
//            are taken from q, k and v (in_proj rows) and from out_proj's columns, so each student head is a part
//            of one teacher head. Needs (student heads per teacher head)·ds <= dt.
//   text     the leading positions of the positional embedding (context <= the teacher's); the same vocabulary.
//   kept     patch size, image size, vocabulary and embedding width D must equal the teacher's.
// Anything else is refused with kd::Error naming the student option (--width, --heads, ...) and both values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/clip/clip_model.h"

namespace kd {

struct InheritanceReport {
  int64_t tensors = 0;                 // student tensors written
  std::vector<int64_t> teacher_layers; // teacher layer of each student layer
  int64_t teacher_n_layers = 0, student_width = 0, teacher_width = 0, student_heads = 0, teacher_heads = 0;
  std::string summary() const;         // "62 tensors: teacher layers 0 2 4 7 9 11 of 12, width 576 of 768, ..."
};

// The evenly spaced teacher layers of `student_layers` student layers (see above). Throws when student > teacher.
std::vector<int64_t> inherited_layers(int64_t student_layers, int64_t teacher_layers);

// The teacher channels (indices into Wt) that student attention channel c (0 .. Ws-1) reads, per the head rule.
// kd::Error naming `heads_option` when the heads do not fit.
std::vector<int64_t> inherited_head_channels(int64_t student_width, int64_t student_heads, int64_t teacher_width,
                                             int64_t teacher_heads, const std::string& heads_option = "--heads");

// Copies into `student`'s `image` (vision) or text tower, and logit_scale, from the same tower of `teacher`.
InheritanceReport inherit_from_teacher(ClipModel& student, const ClipModel& teacher, bool image);

}  // namespace kd
