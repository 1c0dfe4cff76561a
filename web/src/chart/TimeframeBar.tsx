/** Timeframe buttons (1m … 1M); those finer than the dataset's own bars are disabled. */
import type { Dataset, Timeframe } from "../api/types";
import { TIMEFRAMES, timeframeAvailable } from "../state/timeframe";

interface Props {
  value: Timeframe;
  dataset: Dataset | null;
  onChange: (tf: Timeframe) => void;
}

export function TimeframeBar({ value, dataset, onChange }: Props) {
  return (
    <div className="timeframes" role="group" aria-label="Timeframe" data-testid="timeframes">
      {TIMEFRAMES.map((tf) => {
        const available = dataset === null || timeframeAvailable(tf, dataset);
        return (
          <button
            key={tf}
            type="button"
            className={tf === value ? "tf active" : "tf"}
            aria-pressed={tf === value}
            disabled={!available}
            title={available ? `${tf} bars` : "Finer than this dataset's bars"}
            data-testid="timeframe"
            data-tf={tf}
            onClick={() => onChange(tf)}
          >
            {tf}
          </button>
        );
      })}
    </div>
  );
}
