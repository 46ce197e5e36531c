/**
 * Spend per day over the last 30 days: bars on a y axis of money and an x axis of dates (uPlot, on
 * a canvas). The canvas says nothing to a screen reader, so the chart is a slider over the days (the
 * arrow keys choose one; its value is that day's amount) described by a summary, and the figure has a
 * visually hidden table of the same numbers. A readout line shows the day pointed at or chosen.
 */
import { type KeyboardEvent, useEffect, useId, useMemo, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatMinor } from '../../core/money/rates';
import { locale, t } from '../shared/i18n';
import { axisTicks, type DaySpend, labelledDays } from './spend';

const HEIGHT = 220;
const FONT_PX = 12;

/** A theme colour from the page's CSS variables: the canvas cannot use them itself. */
function cssVar(el: Element, name: string, fallback: string): string {
  return getComputedStyle(el).getPropertyValue(name).trim() || fallback;
}

let measurer: CanvasRenderingContext2D | null | undefined;
function textWidth(text: string, font: string): number {
  measurer ??= document.createElement('canvas').getContext('2d');
  if (!measurer) return text.length * FONT_PX * 0.6;
  measurer.font = font;
  return measurer.measureText(text).width;
}

/** The colour scheme, so that the canvas is redrawn in the other theme's colours when it changes. */
function useColorScheme(): 'light' | 'dark' {
  const query = '(prefers-color-scheme: dark)';
  const [dark, setDark] = useState(() => matchMedia(query).matches);
  useEffect(() => {
    const media = matchMedia(query);
    const onChange = () => setDark(media.matches);
    media.addEventListener('change', onChange);
    return () => media.removeEventListener('change', onChange);
  }, []);
  return dark ? 'dark' : 'light';
}

/** The width the chart may take; 0 while its page is hidden. */
function useWidth(el: HTMLElement | null): number {
  const [width, setWidth] = useState(0);
  useEffect(() => {
    if (!el) return;
    const observer = new ResizeObserver(([entry]) => setWidth(Math.floor(entry?.contentRect.width ?? 0)));
    observer.observe(el);
    return () => observer.disconnect();
  }, [el]);
  return width;
}

/** The keys of a slider: a day at a time, a week at a time, the first and the last day. */
const KEY_STEP: Record<string, (from: number, last: number) => number> = {
  ArrowLeft: (i) => i - 1,
  ArrowDown: (i) => i - 1,
  ArrowRight: (i) => i + 1,
  ArrowUp: (i) => i + 1,
  PageDown: (i) => i - 7,
  PageUp: (i) => i + 7,
  Home: () => 0,
  End: (_, last) => last,
};

export function DayChart({ days, currency }: { days: DaySpend[]; currency: string }) {
  const [box, setBox] = useState<HTMLDivElement | null>(null);
  const width = useWidth(box);
  const scheme = useColorScheme();
  const plot = useRef<uPlot | null>(null);
  const [selected, setSelected] = useState<number | null>(null);
  const titleId = useId();
  const summaryId = useId();
  const lang = locale();
  const short = useMemo(() => new Intl.DateTimeFormat(lang, { month: 'short', day: 'numeric' }), [lang]);
  const long = useMemo(() => new Intl.DateTimeFormat(lang, { dateStyle: 'medium' }), [lang]);
  const total = days.reduce((sum, d) => sum + d.minor, 0n);
  const top = days.reduce<DaySpend | undefined>((m, d) => (d.minor > (m?.minor ?? 0n) ? d : m), undefined);
  const money = (minor: bigint) => formatMinor(minor, currency);
  // The chart is rebuilt only when what it draws changes, not on every render of the page.
  const drawn = days.map((d) => `${d.date.getTime()}:${d.minor}`).join();

  // biome-ignore lint/correctness/useExhaustiveDependencies: `drawn` stands for `days`; the formatters follow `lang`
  useEffect(() => {
    if (!box || width === 0) return;
    const font = `${FONT_PX}px ${getComputedStyle(box).fontFamily}`;
    const text = cssVar(box, '--muted', '#6b7280');
    const grid = cssVar(box, '--border', '#d1d5db');
    const bar = cssVar(box, '--accent', '#225eb4');
    // Numbers only for drawing: the amounts shown as text are formatted from the exact bigints.
    const values = days.map((d) => Number(d.minor));
    const ticks = axisTicks(Math.max(0, ...values));
    const tickText = ticks.map((v) => money(BigInt(Math.round(v))));
    const yWidth = Math.ceil(Math.max(...tickText.map((s) => textWidth(s, font)))) + 14;
    const xLabels = labelledDays(days.length);
    // What each axis draws, also as text on the element (data-x-axis, data-y-axis): canvas text has no DOM.
    const labelled = (axis: 'xAxis' | 'yAxis', labels: string[]) => {
      box.dataset[axis] = labels.join('|');
      return labels;
    };
    const highlight = document.createElement('div');
    highlight.className = 'day-highlight';
    const opts: uPlot.Options = {
      width,
      height: HEIGHT,
      legend: { show: false },
      cursor: { x: false, y: false, points: { show: false }, drag: { x: false, y: false, setScale: false } },
      scales: {
        x: { time: false, range: [-0.5, days.length - 0.5] },
        y: { range: [0, ticks.at(-1) ?? 100] },
      },
      series: [
        {},
        {
          fill: bar,
          stroke: bar,
          width: 0,
          points: { show: false },
          paths: uPlot.paths.bars?.({ size: [0.7, 28], align: 0 }),
        },
      ],
      axes: [
        {
          font,
          stroke: text,
          size: FONT_PX + 18,
          grid: { show: false },
          ticks: { show: true, stroke: grid, width: 1, size: 4 },
          splits: () => xLabels,
          values: (_u, splits) =>
            labelled(
              'xAxis',
              splits.map((i) => (days[i] ? short.format(days[i].date) : '')),
            ),
        },
        {
          font,
          stroke: text,
          size: yWidth,
          gap: 6,
          grid: { stroke: grid, width: 1 },
          ticks: { show: false },
          splits: () => ticks,
          values: (_u, splits) =>
            labelled(
              'yAxis',
              splits.map((v) => money(BigInt(Math.round(v)))),
            ),
        },
      ],
      hooks: {
        init: [(u) => u.under.append(highlight)],
        setCursor: [
          (u) => {
            const i = u.cursor.idx;
            if (i === null || i === undefined) {
              highlight.hidden = true;
            } else {
              const left = u.valToPos(i - 0.5, 'x');
              highlight.style.left = `${left}px`;
              highlight.style.width = `${u.valToPos(i + 0.5, 'x') - left}px`;
              highlight.hidden = false;
            }
            setSelected(i ?? null);
          },
        ],
      },
    };
    highlight.hidden = true;
    const u = new uPlot(opts, [days.map((_, i) => i), values], box);
    plot.current = u;
    return () => {
      u.destroy();
      plot.current = null;
    };
  }, [box, width, scheme, drawn, currency, short]);

  /** Moves the chart's cursor to a day, as the pointer would: the readout and highlight follow. */
  const choose = (i: number | null) => {
    const u = plot.current;
    if (!u) return setSelected(i);
    if (i === null) u.setCursor({ left: -10, top: -10 });
    else u.setCursor({ left: u.valToPos(i, 'x'), top: 1 });
  };
  const onKey = (e: KeyboardEvent) => {
    const step = KEY_STEP[e.key];
    if (!step) return;
    e.preventDefault();
    const last = days.length - 1;
    choose(Math.min(last, Math.max(0, step(selected ?? last, last))));
  };

  const first = days[0];
  const today = days.at(-1);
  const summary =
    first && today
      ? top
        ? t(
            'historyDayChartSummary',
            long.format(first.date),
            long.format(today.date),
            money(total),
            long.format(top.date),
            money(top.minor),
          )
        : t('historyDayChartSummaryNone', long.format(first.date), long.format(today.date))
      : '';
  const day = selected === null ? undefined : days[selected];
  const dayText = (d: DaySpend) => t('historyDayReadout', short.format(d.date), money(d.minor));
  // What the slider says: the chosen day, else the one the keys start from (today).
  const current = selected ?? days.length - 1;
  const spoken = days[current];
  return (
    <figure className="card chart" data-testid="chart">
      <figcaption className="chart-head">
        <span className="chart-title" id={titleId}>
          {t('historyDayChartTitle')}
        </span>
        <span data-testid="chart-total">{t('historyDayChartTotal', money(total))}</span>
      </figcaption>
      {/* A slider over the days: Tab reaches it, the arrow keys choose a day, a screen reader says it. */}
      <div
        ref={setBox}
        className="day-chart"
        role="slider"
        tabIndex={0}
        aria-labelledby={titleId}
        aria-describedby={summaryId}
        aria-valuemin={1}
        aria-valuemax={days.length}
        aria-valuenow={current + 1}
        aria-valuetext={spoken ? dayText(spoken) : undefined}
        data-testid="day-chart"
        onKeyDown={onKey}
        onFocus={() => selected === null && choose(days.length - 1)}
        onBlur={() => choose(null)}
      />
      <p className="visually-hidden" id={summaryId}>
        {summary}
      </p>
      <p className="chart-readout" data-testid="day-readout">
        {day ? <strong>{dayText(day)}</strong> : <span className="muted">{t('historyDayChartHint')}</span>}
      </p>
      <table className="visually-hidden">
        <caption>{t('historyDayChartTitle')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('historyDayChartDay')}</th>
            <th scope="col">{t('historyDayChartSpent')}</th>
          </tr>
        </thead>
        <tbody>
          {days.map((d) => (
            <tr key={d.date.getTime()}>
              <th scope="row">{long.format(d.date)}</th>
              <td>{money(d.minor)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
