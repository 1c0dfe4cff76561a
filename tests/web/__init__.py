"""Browser tests: the built web app in headless Chromium against a real ``k2q up``."""
