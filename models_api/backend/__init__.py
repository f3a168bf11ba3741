"""Firestore access with bounded waits, background refreshes, a bounded LRU."""
