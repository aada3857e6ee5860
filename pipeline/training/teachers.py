"""Moved: teacher tables are made by the benchmarks, which run the browser peers (python -m bench teachers)."""

if __name__ == "__main__":
    import runpy
    import sys

    print("pipeline.training.teachers moved: running python -m bench teachers", file=sys.stderr)
    sys.argv[0] = "bench"
    sys.argv.insert(1, "teachers")
    runpy.run_module("bench", run_name="__main__")
