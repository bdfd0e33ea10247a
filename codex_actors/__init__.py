"""codex-actors"""
