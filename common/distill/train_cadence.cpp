// actions_after_step: the cadence rules of train_cadence.h.
#include "common/distill/train_cadence.h"

namespace kd {

StepActions actions_after_step(int64_t steps_done, int64_t batch_done, int64_t steps_per_epoch,
                               int64_t val_every_steps, int64_t checkpoint_every_steps, bool last) {
  StepActions a;
  a.epoch_end = batch_done >= steps_per_epoch;
  a.validate = val_every_steps > 0 ? steps_done % val_every_steps == 0 : a.epoch_end;
  const bool cadence = checkpoint_every_steps > 0 && steps_done % checkpoint_every_steps == 0;
  a.checkpoint = a.epoch_end || a.validate || cadence || last;
  return a;
}

}  // namespace kd
