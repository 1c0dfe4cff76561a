// Runs before every test file (vite.config.ts `test.setupFiles`).
import { notifyManager } from "@tanstack/react-query";

// TanStack Query hands results to components a timer later (`setTimeout(0)`) by default. Tests render
// under `act` and look right after, so results must arrive in the same task, as React's own updates do.
notifyManager.setScheduler(queueMicrotask);
