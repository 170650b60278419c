"""Stage 1, bytes in and out: transports (replay, BLE, USB serial), the capture file,
packet decoding, streaming reassembly, the device-to-host timebase, btsnoop logs and IMU CSV
tables. Nothing here imports a later stage."""
