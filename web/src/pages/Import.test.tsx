// The import page and its place in the shell: analysts and admins see it; viewers do not.
import { QueryClientProvider } from "@tanstack/react-query";
import { renderToString } from "react-dom/server";
import { MemoryRouter } from "react-router-dom";
import { describe, expect, it } from "vitest";

import type { Role } from "../api/types";
import { App } from "../App";
import { ImportOutcomeView } from "../features/import/ImportOutcome";
import type { ImportResult } from "../features/import/form";
import { createQueryClient } from "../queries/queryClient";
import Import from "./Import";

const signedIn = (role: Role) => ({ status: "signed-in", user: { username: `the-${role}`, role, auth: "session" } }) as const;

function render(path: string, element = <App auth={signedIn("analyst")} />): string {
  return renderToString(
    <QueryClientProvider client={createQueryClient()}>
      <MemoryRouter initialEntries={[path]}>{element}</MemoryRouter>
    </QueryClientProvider>,
  );
}

describe("import page", () => {
  it("shows analysts and admins the Import link, not viewers", () => {
    expect(render("/", <App auth={signedIn("analyst")} />)).toContain('data-testid="nav-import"');
    expect(render("/", <App auth={signedIn("admin")} />)).toContain('data-testid="nav-import"');
    expect(render("/", <App auth={signedIn("viewer")} />)).not.toContain('data-testid="nav-import"');
    expect(render("/import", <App auth={signedIn("viewer")} />)).toContain('data-testid="forbidden"');
  });

  it("renders the form", () => {
    const html = render("/import", <Import />);
    for (const id of ["import-form", "import-file", "import-submit"]) expect(html).toContain(`data-testid="${id}"`);
    expect(html).toContain("America/New_York");
  });

  it("links a finished import to its chart and words a rejection by line", () => {
    const result = {
      dataset: { table: "aapl_1day_2024-01-02_2024-03-28", total_records: 60 },
      summary: { format: "csv", bars: 60, duplicates_dropped: 1, timestamps: "ISO dates", columns: { ts: "Date" }, ignored_columns: ["Note"], warnings: ["odd"] },
    } as unknown as ImportResult;
    const done = render("/import", <ImportOutcomeView outcome={{ kind: "imported", result }} />);
    expect(done).toContain('href="/analysis?table=aapl_1day_2024-01-02_2024-03-28"');
    expect(done).toContain("ts ← Date");
    const rejected = render(
      "/import",
      <ImportOutcomeView
        outcome={{
          kind: "rejected",
          rejection: { title: "Invalid request", status: 422, detail: "", format: "csv", problems: [{ line: 7, column: "open", message: "'x' is not a number" }], problem_count: 3 },
        }}
      />,
    );
    expect(rejected).toContain("line 7: open: &#x27;x&#x27; is not a number");
    expect(rejected).toContain("and <!-- -->2<!-- --> more");
  });
});
