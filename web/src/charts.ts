import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip } from 'chart.js';

/** Bar charts of the batch view, on Chart.js (a chunk of its own, loaded with that view). */

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

export interface BarData {
  labels: string[];
  values: number[];
  colour: string;
}

export function drawBars(canvas: HTMLCanvasElement, data: BarData, onPick: (index: number) => void): { destroy(): void } {
  return new Chart(canvas, {
    type: 'bar',
    data: { labels: data.labels, datasets: [{ data: data.values, backgroundColor: data.colour, borderWidth: 0 }] },
    options: {
      indexAxis: 'y',
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: false }, tooltip: { enabled: true } },
      scales: { x: { beginAtZero: true, ticks: { precision: 0, color: '#1f2328' } }, y: { ticks: { color: '#1f2328', autoSkip: false } } },
      onClick: (_event, elements) => {
        const first = elements[0];
        if (first) onPick(first.index);
      },
    },
  });
}
