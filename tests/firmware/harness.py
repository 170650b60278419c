# The check scripts' runner, for MicroPython (no unittest on the unix port) and CPython.
import sys


def run(namespace, names=()):
    """Run the ``test_*`` functions of a module's globals (only ``names`` if given).

    Prints one line per failure and "N passed, M failed"; exits 1 on failure.
    """
    passed = failed = 0
    for name in sorted(namespace):
        fn = namespace[name]
        if not name.startswith("test_") or not callable(fn) or (names and name not in names):
            continue
        try:
            fn()
            passed += 1
        except Exception as err:  # a failing check, or a bug the check found
            failed += 1
            print("FAIL " + name + ": " + type(err).__name__ + ": " + str(err))
    print(str(passed) + " passed, " + str(failed) + " failed")
    if failed or (names and passed != len(names)):
        sys.exit(1)
