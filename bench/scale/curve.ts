// What a scale measurement hands to the runner: a curve (how a figure moves
// as the work grows), the table behind it, and the target for it.
// Each *.scale.ts exports `run(options): Promise<Curve[]>`.

export interface Point {
  /** The size of the work: pending deliveries, targets, handlers, events. */
  readonly x: number;
  readonly y: number;
}

export interface Series {
  readonly name: string;
  readonly points: readonly Point[];
}

export interface Curve {
  /** File-name safe: the chart is written to docs/performance/<id>.svg. */
  readonly id: string;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** Log scale on x (sizes that grow tenfold). */
  readonly logX?: boolean;
  readonly series: readonly Series[];
  /** The table behind the chart, as markdown rows (first row: the header). */
  readonly table: readonly (readonly string[])[];
  /** The target in words, and whether this run met it; absent: informational. */
  readonly target?: CurveTarget;
}

export interface CurveTarget {
  readonly text: string;
  /** Undefined: not judged, the run's sizes stopped short of the size the target is stated at (a capped run). */
  readonly met: boolean | undefined;
  readonly detail: string;
}

/** A target's verdict in words: a capped run cannot say a target at 1 million was missed, only that it was not judged. */
export function targetVerdict(target: CurveTarget): 'met' | 'missed' | 'not judged (sizes capped)' {
  if (target.met === undefined) return 'not judged (sizes capped)';
  return target.met ? 'met' : 'missed';
}

/** `met` for a target stated at `size`: judged only when the run reached it. */
export function judgedAt(size: number, reached: number, met: () => boolean): boolean | undefined {
  return reached < size ? undefined : met();
}

export interface ScaleOptions {
  /** The largest size to measure (default 1,000,000; `--quick` or SCALE_MAX lowers it). */
  readonly max: number;
}

/** The sizes of a curve that fit under `max`, always keeping the first. */
export function sizesUpTo(sizes: readonly number[], max: number): number[] {
  return sizes.filter((s, i) => i === 0 || s <= max);
}

/** The value at quantile q (0..1) of already sorted values. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] as number;
}

export function formatCount(n: number): string {
  if (n >= 1e6 && n % 1e6 === 0) return `${n / 1e6}M`;
  if (n >= 1e3 && n % 1e3 === 0) return `${n / 1e3}k`;
  return String(n);
}

export function formatFigure(n: number, digits = 3): string {
  if (n === 0) return '0';
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  return Number(n.toPrecision(digits)).toString();
}

export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
