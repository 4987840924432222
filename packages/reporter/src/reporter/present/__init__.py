"""Views turned into documents (for people) and JSON (for scripts)."""
