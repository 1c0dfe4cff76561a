/** Timeframe buttons: Auto (the server picks) and 1m … 1M; those finer than the dataset's own bars are disabled. */
import type { Dataset } from "../api/types";
import { TIMEFRAMES, timeframeAvailable } from "../state/timeframe";
import type { TimeframeChoice } from "../state/url";

interface Props {
  value: TimeframeChoice;
  dataset: Dataset | null;
  onChange: (tf: TimeframeChoice) => void;
}

export function TimeframeBar({ value, dataset, onChange }: Props) {
  const choices: readonly TimeframeChoice[] = ["auto", ...TIMEFRAMES];
  return (
    <div className="timeframes" role="group" aria-label="Timeframe" data-testid="timeframes">
      {choices.map((tf) => {
        const available = tf === "auto" || dataset === null || timeframeAvailable(tf, dataset);
        const title = tf === "auto" ? "The finest timeframe that fits the chart" : available ? `${tf} bars` : "Finer than this dataset's bars";
        return (
          <button
            key={tf}
            type="button"
            className={tf === value ? "tf active" : "tf"}
            aria-pressed={tf === value}
            disabled={!available}
            title={title}
            data-testid="timeframe"
            data-tf={tf}
            onClick={() => onChange(tf)}
          >
            {tf === "auto" ? "Auto" : tf}
          </button>
        );
      })}
    </div>
  );
}
