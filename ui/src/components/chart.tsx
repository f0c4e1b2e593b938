// One uPlot line chart. uPlot draws on a canvas, so the figure has a text
// caption with the latest values for screen readers.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface Series {
  readonly label: string;
  readonly color: string;
  readonly values: readonly number[];
}

export function Chart({ title, times, series }: { title: string; times: readonly number[]; series: readonly Series[] }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current;
    if (el === null) return undefined;
    const width = Math.max(280, el.clientWidth);
    plot.current = new uPlot(
      {
        width,
        height: 200,
        scales: { x: { time: true } },
        axes: [{ stroke: '#333' }, { stroke: '#333', label: 'per second', size: 60 }],
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2 }))],
        legend: { show: true },
      },
      [[], ...series.map(() => [])] as unknown as uPlot.AlignedData,
      el,
    );
    const resize = (): void => plot.current?.setSize({ width: Math.max(280, el.clientWidth), height: 200 });
    addEventListener('resize', resize);
    return () => {
      removeEventListener('resize', resize);
      plot.current?.destroy();
      plot.current = null;
    };
    // The series' labels do not change; only their data does.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    plot.current?.setData([times as number[], ...series.map((s) => s.values as number[])]);
  }, [times, series]);

  const latest = series.map((s) => `${s.label} ${(s.values[s.values.length - 1] ?? 0).toFixed(2)}/s`).join(', ');
  return (
    <figure class="chart">
      <figcaption>
        {title} <span class="muted">(latest: {latest})</span>
      </figcaption>
      <div ref={box} role="img" aria-label={`${title} over the last hour; latest ${latest}`} />
    </figure>
  );
}
