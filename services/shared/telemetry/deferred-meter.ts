// A Meter that services can use from their first line while the OpenTelemetry metrics SDK is not
// loaded yet. Loading the SDK (sdk-metrics, exporter-prometheus, resources, core and the semantic
// conventions) cost ~0.07 of the ~0.45 CPU-s a service took to become ready, and most processes
// are scraped seconds later or never (an agent started with --metrics-port -1). So the service's
// instruments are these stand-ins: they keep what was measured (a counter's sum and a gauge's last
// value per attribute set, a histogram's values) until the SDK's meter is attached, replay it
// there, and forward everything after. A detached meter (no endpoint to read it) keeps nothing.
// Too many buffered histogram values ask the owner to load the SDK early (`onOverflow`), so the
// buffer stays bounded whether or not anything ever scrapes.
import type {
  Attributes,
  BatchObservableCallback,
  BatchObservableResult,
  Context,
  Counter,
  Gauge,
  Histogram,
  Meter,
  MetricOptions,
  Observable,
  ObservableCallback,
  ObservableCounter,
  ObservableGauge,
  ObservableUpDownCounter,
  UpDownCounter,
} from '@opentelemetry/api';

/** Buffered histogram values (all instruments) above which the SDK is asked for. */
export const DEFERRED_VALUES_LIMIT = 10_000;

type SyncKind = 'counter' | 'upDownCounter' | 'gauge' | 'histogram';
type ObservableKind = 'observableCounter' | 'observableGauge' | 'observableUpDownCounter';
type State = 'waiting' | 'attached' | 'detached';

/** A stable key for an attribute set (the SDK ignores key order too). */
function attributesKey(attributes: Attributes | undefined): string {
  if (!attributes) return '';
  return JSON.stringify(
    Object.keys(attributes)
      .sort()
      .map((k) => [k, attributes[k]]),
  );
}

class DeferredSync {
  real?: { add?(v: number, a?: Attributes, c?: Context): void; record?(v: number, a?: Attributes, c?: Context): void };
  /** Sum (counters) or last value (gauge) per attribute set; values (histogram). */
  private readonly points = new Map<string, { attributes?: Attributes; value: number; values?: number[] }>();

  constructor(
    private readonly owner: DeferredMeter,
    readonly kind: SyncKind,
    readonly name: string,
    readonly options?: MetricOptions,
  ) {}

  add(value: number, attributes?: Attributes, context?: Context): void {
    if (this.real) return this.real.add!(value, attributes, context);
    if (this.owner.state === 'detached' || (this.kind === 'counter' && value < 0)) return;
    const key = attributesKey(attributes);
    const p = this.points.get(key);
    if (p) p.value += value;
    else this.points.set(key, { attributes, value });
  }

  record(value: number, attributes?: Attributes, context?: Context): void {
    if (this.real) return this.real.record!(value, attributes, context);
    if (this.owner.state === 'detached') return;
    const key = attributesKey(attributes);
    if (this.kind === 'gauge') {
      this.points.set(key, { attributes, value });
      return;
    }
    const p = this.points.get(key);
    if (p) p.values!.push(value);
    else this.points.set(key, { attributes, value: 0, values: [value] });
    this.owner.buffered();
  }

  attach(meter: Meter): void {
    const real =
      this.kind === 'counter'
        ? meter.createCounter(this.name, this.options)
        : this.kind === 'upDownCounter'
          ? meter.createUpDownCounter(this.name, this.options)
          : this.kind === 'gauge'
            ? meter.createGauge(this.name, this.options)
            : meter.createHistogram(this.name, this.options);
    for (const p of this.points.values()) {
      if ('add' in real) real.add(p.value, p.attributes);
      else if (p.values) for (const v of p.values) real.record(v, p.attributes);
      else real.record(p.value, p.attributes);
    }
    this.points.clear();
    this.real = real;
  }
}

class DeferredObservable {
  real?: Observable;
  private readonly callbacks = new Set<ObservableCallback>();

  constructor(
    readonly kind: ObservableKind,
    readonly name: string,
    readonly options?: MetricOptions,
  ) {}

  addCallback(callback: ObservableCallback): void {
    if (this.real) this.real.addCallback(callback);
    else this.callbacks.add(callback);
  }

  removeCallback(callback: ObservableCallback): void {
    if (this.real) this.real.removeCallback(callback);
    else this.callbacks.delete(callback);
  }

  attach(meter: Meter): void {
    const create = {
      observableCounter: () => meter.createObservableCounter(this.name, this.options),
      observableGauge: () => meter.createObservableGauge(this.name, this.options),
      observableUpDownCounter: () => meter.createObservableUpDownCounter(this.name, this.options),
    }[this.kind];
    this.real = create();
    for (const c of this.callbacks) this.real.addCallback(c);
    this.callbacks.clear();
  }
}

export class DeferredMeter implements Meter {
  state: State = 'waiting';
  private readonly instruments: Array<DeferredSync | DeferredObservable> = [];
  private readonly batches = new Map<BatchObservableCallback, Observable[]>();
  /** The wrapper registered on the real meter for each batch callback. */
  private readonly realBatches = new Map<BatchObservableCallback, BatchObservableCallback>();
  private meter?: Meter;
  private values = 0;

  /** `onOverflow` is called (once) when more than DEFERRED_VALUES_LIMIT values wait for the SDK. */
  constructor(private readonly onOverflow: () => void) {}

  /** Replays every instrument, value and callback onto `meter`; from now on everything goes there. */
  attach(meter: Meter): void {
    if (this.state === 'attached') return;
    this.state = 'attached';
    this.meter = meter;
    for (const i of this.instruments) i.attach(meter);
    for (const [callback, observables] of this.batches) this.attachBatch(callback, observables);
    this.batches.clear();
  }

  /** Nothing will ever read these metrics: keep nothing. */
  detach(): void {
    if (this.state === 'waiting') this.state = 'detached';
  }

  /** A histogram value was buffered. */
  buffered(): void {
    if (++this.values === DEFERRED_VALUES_LIMIT + 1) this.onOverflow();
  }

  createCounter(name: string, options?: MetricOptions): Counter {
    return this.meter?.createCounter(name, options) ?? this.sync('counter', name, options);
  }

  createUpDownCounter(name: string, options?: MetricOptions): UpDownCounter {
    return this.meter?.createUpDownCounter(name, options) ?? this.sync('upDownCounter', name, options);
  }

  createGauge(name: string, options?: MetricOptions): Gauge {
    return this.meter?.createGauge(name, options) ?? this.sync('gauge', name, options);
  }

  createHistogram(name: string, options?: MetricOptions): Histogram {
    return this.meter?.createHistogram(name, options) ?? this.sync('histogram', name, options);
  }

  createObservableCounter(name: string, options?: MetricOptions): ObservableCounter {
    return this.meter?.createObservableCounter(name, options) ?? this.observable('observableCounter', name, options);
  }

  createObservableGauge(name: string, options?: MetricOptions): ObservableGauge {
    return this.meter?.createObservableGauge(name, options) ?? this.observable('observableGauge', name, options);
  }

  createObservableUpDownCounter(name: string, options?: MetricOptions): ObservableUpDownCounter {
    return (
      this.meter?.createObservableUpDownCounter(name, options) ??
      this.observable('observableUpDownCounter', name, options)
    );
  }

  addBatchObservableCallback(callback: BatchObservableCallback, observables: Observable[]): void {
    if (this.meter) this.attachBatch(callback, observables);
    else this.batches.set(callback, observables);
  }

  removeBatchObservableCallback(callback: BatchObservableCallback, observables: Observable[]): void {
    const wrapper = this.realBatches.get(callback);
    if (this.meter && wrapper) {
      this.meter.removeBatchObservableCallback(wrapper, observables.map(realOf));
      this.realBatches.delete(callback);
    } else this.batches.delete(callback);
  }

  private sync(kind: SyncKind, name: string, options?: MetricOptions): DeferredSync & Counter & Histogram & Gauge {
    const i = new DeferredSync(this, kind, name, options);
    if (this.state !== 'detached') this.instruments.push(i);
    return i as DeferredSync & Counter & Histogram & Gauge;
  }

  private observable(kind: ObservableKind, name: string, options?: MetricOptions): DeferredObservable & Observable {
    const i = new DeferredObservable(kind, name, options);
    if (this.state !== 'detached') this.instruments.push(i);
    return i;
  }

  /** The callback observes our stand-ins; the SDK knows only its own instruments. */
  private attachBatch(callback: BatchObservableCallback, observables: Observable[]): void {
    const wrapper: BatchObservableCallback = (result: BatchObservableResult) =>
      callback({ observe: (o, value, attributes) => result.observe(realOf(o), value, attributes) });
    this.realBatches.set(callback, wrapper);
    this.meter!.addBatchObservableCallback(wrapper, observables.map(realOf));
  }
}

function realOf(o: Observable): Observable {
  return o instanceof DeferredObservable ? o.real! : o;
}
