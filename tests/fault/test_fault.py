"""test_fault.py - zflow's fault-injection suite: random faults during runs of `zflow up --pair`.

Each test is one scenario (fault.py): one random schedule of one kind of fault. Which scenarios
run comes from the environment:

  ZF_FAULT_SUITE=quick|full   quick (the default): one scenario of each of QUICK_KINDS;
                              full: ZF_FAULT_COUNT scenarios (default 50), the kinds in turn
  ZF_FAULT_TASKS=N            tasks in each run (default 2000 full, 300 quick)
  ZF_FAULT_BASE_SEED=S        the seed the scenarios' seeds are drawn from (default: the time)
  ZF_FAULT_SCENARIO=KIND      with ZF_FAULT_SEED=S: that one scenario only (a replay)
  ZF_FAULT_SEED=S
  ZF_FAULT_KINDS=a,b          only these kinds
  ZF_KEEP=1                   keep every scenario's folder (a failed one's is always kept)

Every scenario prints its kind and seed first, so a failure is replayed with
ZF_FAULT_SCENARIO=<kind> ZF_FAULT_SEED=<seed>.
"""
import os
import random
import time
import unittest

import fault

QUICK_KINDS = ("kill_executor", "kill_dispatcher", "kill_archiver", "kill_active", "partition",
               "cold_pair")


def _plan():
    """The scenarios to run: [(kind, seed)], and the task count."""
    suite = os.environ.get("ZF_FAULT_SUITE", "quick")
    tasks = int(os.environ.get("ZF_FAULT_TASKS", "2000" if suite == "full" else "300"))
    if os.environ.get("ZF_FAULT_SCENARIO"):
        return [(os.environ["ZF_FAULT_SCENARIO"], int(os.environ.get("ZF_FAULT_SEED", "1")))], tasks
    base = int(os.environ.get("ZF_FAULT_BASE_SEED", str(int(time.time()))))
    print("ZF_FAULT_BASE_SEED=%d" % base, flush=True)
    rng = random.Random(base)
    kinds = fault.KINDS if suite == "full" else QUICK_KINDS
    if os.environ.get("ZF_FAULT_KINDS"):
        kinds = tuple(k for k in os.environ["ZF_FAULT_KINDS"].split(",") if k)
    count = int(os.environ.get("ZF_FAULT_COUNT", "50")) if suite == "full" else len(kinds)
    return [(kinds[i % len(kinds)], rng.randrange(1, 2 ** 31)) for i in range(count)], tasks


class FaultScenarios(unittest.TestCase):
    """Filled in below: one test per scenario, named test_NN_KIND_SEED."""
    maxDiff = None


def _make(kind, seed, tasks):
    def test(self):
        fault.Scenario(kind, seed, tasks).run()
    return test


PLAN, TASKS = _plan()
for _number, (_kind, _seed) in enumerate(PLAN):
    if _kind not in fault.KINDS:
        raise SystemExit("unknown scenario kind %r; the kinds: %s" % (_kind, ", ".join(fault.KINDS)))
    setattr(FaultScenarios, "test_%02d_%s_%d" % (_number, _kind, _seed), _make(_kind, _seed, TASKS))


if __name__ == "__main__":
    unittest.main(verbosity=2)
