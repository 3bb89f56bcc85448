"""Small real models bundled with irforge, ready to compile, run and benchmark."""
