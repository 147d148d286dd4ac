"""Where models run: the remote HTTP backend and the in-process local backend."""
