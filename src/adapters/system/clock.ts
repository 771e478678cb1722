// The system clock, behind the Clock port.
import type { Clock } from "../../app/ports/clock";

export const systemClock: Clock = { now: () => Date.now() };
