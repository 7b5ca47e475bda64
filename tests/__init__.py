"""Tests: unit (services), web (test client), e2e (Chromium), reliability (concurrency, crash)."""
