"""FastAPI assembly: each wing brings its router; this package guards and serves them."""
