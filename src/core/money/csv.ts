/** The payments ledger as CSV (RFC 4180 quoting), one row per payment, amounts as integers. */
export interface CsvPayment {
  createdAt: number;
  origin: string;
  url: string;
  state: string;
  amountMsat: string;
  amountMinor?: string;
  currency?: string;
  rate?: { minorPerBtc: string; source: string; asOf: number };
  paymentHash: string;
  description?: string;
}

const COLUMNS = [
  'date',
  'site',
  'url',
  'state',
  'amount_msat',
  'amount_minor',
  'currency',
  'rate_minor_per_btc',
  'rate_source',
  'rate_as_of',
  'payment_hash',
  'description',
];

const cell = (x: string) => (/[",\r\n]/.test(x) ? `"${x.replace(/"/g, '""')}"` : x);

export function paymentsCsv(rows: readonly CsvPayment[]): string {
  const lines = rows.map((p) =>
    [
      new Date(p.createdAt).toISOString(),
      p.origin,
      p.url,
      p.state,
      p.amountMsat,
      p.amountMinor ?? '',
      p.currency ?? '',
      p.rate?.minorPerBtc ?? '',
      p.rate?.source ?? '',
      p.rate ? new Date(p.rate.asOf).toISOString() : '',
      p.paymentHash,
      p.description ?? '',
    ]
      .map(cell)
      .join(','),
  );
  return `${[COLUMNS.join(','), ...lines].join('\r\n')}\r\n`;
}
