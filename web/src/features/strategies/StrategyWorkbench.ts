/**
 * Everything the Analysis page shows of strategies and screens, loaded as one chunk (with its
 * stylesheet) when first wanted: the Strategies section opened, a run shown, a screen asked for.
 * CodeMirror is a chunk of its own, loaded with the editor (`LazyEditor`).
 */
import "./strategies.css";

export { StrategiesPanel } from "./StrategiesPanel";
export { RunFollower } from "./RunFollower";
export { RunResults } from "./RunResults";
export { ScreenPanel } from "../screens/ScreenPanel";
