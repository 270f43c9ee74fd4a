// The loop over a TrainSession: step, validate and checkpoint on their cadence (train_cadence.h), report on stderr.
#include "common/distill/trainer.h"

#include <algorithm>
#include <cstdio>

#include "common/distill/train_cadence.h"
#include "common/distill/train_session.h"
#include "common/util/progress.h"

namespace kd {

TrainResult run_training(const TrainOptions& o, const DistEnv& env) {
  TrainSession session(o, env);
  const std::string tool = std::string("kd-train ") + (is_image_student(o) ? "image" : "text");
  const bool talk = session.is_main() && !o.quiet;
  if (talk && !session.init_summary().empty())
    std::fprintf(stderr, "%s: inherited from the teacher: %s\n", tool.c_str(), session.init_summary().c_str());
  if (talk && session.resumed())
    std::fprintf(stderr, "%s: resumed %s at epoch %lld, step %lld\n", tool.c_str(),
                 (session.run_dir() / "checkpoints/last.ckpt").c_str(), (long long)session.position().epoch,
                 (long long)session.position().step);
  TrainResult result;
  result.run_dir = session.run_dir();
  Progress progress(tool, session.total_steps() - session.position().step, "steps", !talk);
  while (!session.done()) {
    const StepReport r = session.step();
    progress.add(1);
    if (result.steps == 0) result.first_loss = r.loss;
    result.steps = r.step;
    if (r.epoch_end) result.last_loss = r.epoch_mean_loss;
    const StepActions act = actions_after_step(r.step, r.batch_in_epoch, session.steps_per_epoch(),
                                               o.val_every_steps, o.checkpoint_every_steps, session.done());
    const std::optional<ValMetrics> val = act.validate ? session.validate() : std::nullopt;
    if (val) {
      result.val.push_back(*val);
      if (talk)
        std::fprintf(stderr, "%s: validation at step %lld: val_acc %.4f, I->T R@1/5/10 %.3f/%.3f/%.3f, T->I "
                     "%.3f/%.3f/%.3f, cosine %.4f\n", tool.c_str(), (long long)r.step, val->val_acc,
                     val->image_to_text[0], val->image_to_text[1], val->image_to_text[2], val->text_to_image[0],
                     val->text_to_image[1], val->text_to_image[2], val->mean_cosine);
    }
    if (talk && act.epoch_end)
      std::fprintf(stderr, "%s: epoch %lld/%lld done, mean loss %.5f\n", tool.c_str(), (long long)r.epoch + 1,
                   (long long)o.max_epochs, r.epoch_mean_loss);
    if (act.checkpoint) session.checkpoint(val ? &*val : nullptr);
    if (session.done() && !r.epoch_end) result.last_loss = r.epoch_mean_loss;  // stopped inside an epoch
  }
  progress.finish();
  result.data_wait_s = session.data_wait_seconds();
  if (talk && result.steps > 0)
    std::fprintf(stderr, "%s: steps waited %.2f s for data in all (%.1f ms per step; rows held in memory: %.1f MB)\n",
                 tool.c_str(), result.data_wait_s, 1e3 * result.data_wait_s / std::max<int64_t>(1, result.steps),
                 session.resident_data_bytes() / 1e6);
  session.finish(tool + ": " + session.run_dir().filename().string());
  if (talk)
    std::fprintf(stderr, "%s: student written to %s\n", tool.c_str(),
                 (session.run_dir() / "student.safetensors").c_str());
  return result;
}

}  // namespace kd
