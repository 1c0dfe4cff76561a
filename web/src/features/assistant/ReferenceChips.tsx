/** A message's (or a task's) chart references, each with an "Open on chart" button (`references.ts`). */
import { useState } from "react";
import { useSearchParams } from "react-router-dom";

import type { Dataset } from "../../api/types";
import { type ChartTarget, chartTarget, referenceText } from "./references";
import type { ChartReference } from "./types";

interface Props {
  references: readonly ChartReference[];
  datasets: readonly Dataset[] | null;
  onOpen: (target: ChartTarget) => void;
}

export function ReferenceChips({ references, datasets, onOpen }: Props) {
  const [params] = useSearchParams();
  const [problem, setProblem] = useState<string | null>(null);
  if (references.length === 0) return null;
  const open = (ref: ChartReference): void => {
    const target = chartTarget(ref, datasets ?? [], params);
    if ("problem" in target) {
      setProblem(target.problem);
      return;
    }
    setProblem(null);
    onOpen(target);
  };
  return (
    <div className="refs" data-testid="chart-references">
      {references.map((ref, i) => (
        <div className="ref" key={i} data-kind={ref.kind}>
          <span className="ref-text">{referenceText(ref)}</span>
          <button type="button" className="btn btn-small ref-open" onClick={() => open(ref)} data-testid="open-on-chart">
            Open on chart
          </button>
        </div>
      ))}
      {problem !== null ? (
        <div className="ref-problem error-text" role="alert">
          {problem}
        </div>
      ) : null}
    </div>
  );
}
