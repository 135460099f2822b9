"""Work the server hands to other processes (the class training job)."""
