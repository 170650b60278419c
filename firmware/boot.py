# Runs before main.py. Kept trivial so that nothing here can stop a boot.
