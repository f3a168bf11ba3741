"""Who is calling: API keys or Firebase ID + App Check tokens, and the failed-auth throttle."""
