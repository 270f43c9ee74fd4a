// When kd-train validates and checkpoints after a step. The two cadences are independent: --val-every-steps N
// validates every N steps (0: at each epoch's end), --checkpoint-every-steps N checkpoints every N steps on top of
// the checkpoints that always happen (each epoch's end, each validation, the last step).
#pragma once

#include <cstdint>

namespace kd {

struct StepActions {
  bool epoch_end = false;   // the step finished its epoch
  bool validate = false;    // run validation now
  bool checkpoint = false;  // write last.ckpt now (with the validation's metrics when validate)
};

// After the optimiser step that made `steps_done` steps in all and consumed batch `batch_done` (1-based) of the
// `steps_per_epoch` in its epoch; `last`: training stops after this step.
StepActions actions_after_step(int64_t steps_done, int64_t batch_done, int64_t steps_per_epoch,
                               int64_t val_every_steps, int64_t checkpoint_every_steps, bool last);

}  // namespace kd
