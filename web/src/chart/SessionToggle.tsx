/** Extended hours (04:00–20:00 ET, the default) or the regular session only (09:30–16:00 ET). */
import type { TradingSession } from "../api/types";

interface Props {
  value: TradingSession;
  /** Daily and wider datasets have no sessions to filter. */
  disabled: boolean;
  onChange: (session: TradingSession) => void;
}

const CHOICES: readonly { value: TradingSession; label: string; title: string }[] = [
  { value: "extended", label: "Extended", title: "Pre-market, regular and after-hours bars (04:00–20:00 ET)" },
  { value: "regular", label: "Regular", title: "Regular-session bars only (09:30–16:00 ET)" },
];

export function SessionToggle({ value, disabled, onChange }: Props) {
  return (
    <div className="seg-group" role="group" aria-label="Trading session" data-testid="session-toggle" data-value={value}>
      {CHOICES.map((c) => (
        <button
          key={c.value}
          type="button"
          className={c.value === value ? "tf active" : "tf"}
          aria-pressed={c.value === value}
          disabled={disabled}
          title={disabled ? "Only intraday bars have sessions" : c.title}
          data-session={c.value}
          onClick={() => onChange(c.value)}
        >
          {c.label}
        </button>
      ))}
    </div>
  );
}
