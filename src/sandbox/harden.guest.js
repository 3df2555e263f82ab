// Hardens a guest context so that many programs can run in it one after another without affecting each other.
//
// Evaluated once in a fresh guest context, before any program: it removes the only sources of hidden realm state
// (Math.random's seed; `eval`, the only way to declare global lexical bindings after start), makes assignments to
// common inherited names (`toString`, `constructor`, `name`, `message`, …) define an own property as they do on
// unfrozen built-ins (SES "property overrides"), then deep-freezes every object reachable from the global object
// and from the hidden intrinsics (iterator and generator prototypes, %TypedArray%, %ThrowTypeError%, …), and makes
// every global binding read-only (moving them to a frozen object just above the global object in its prototype
// chain, so the global object itself has almost no own properties). The global object stays extensible, so
// implicit globals still work inside a job; the host deletes whatever a job added (see `reset` in the harness).
// Its completion value is the array of the override getters (pure functions the harness may call).
(function () {
  'use strict';
  const g = globalThis;
  const { freeze, defineProperty, getOwnPropertyDescriptor: gopd, getPrototypeOf, setPrototypeOf, create } = Object;
  const ownKeys = Reflect.ownKeys;
  const OVERRIDE_NAMES = new Set([
    'constructor',
    'toString',
    'toLocaleString',
    'valueOf',
    'name',
    'message',
    'hasOwnProperty',
    'isPrototypeOf',
    'propertyIsEnumerable',
    'toJSON',
  ]);

  delete g.Math.random;
  delete g.eval;

  // Move the global bindings to an object between the global object and Object.prototype (frozen below): names
  // still resolve through the prototype chain, and the global object keeps almost no own properties, so checking
  // after each job that it has none added costs a fraction of a microsecond instead of ~11 µs.
  const bindings = create(getPrototypeOf(g));
  for (const k of ownKeys(g)) {
    const d = gopd(g, k);
    if (!d.configurable) continue; // undefined, NaN, Infinity: already permanent and read-only
    defineProperty(bindings, k, d);
    delete g[k];
  }
  setPrototypeOf(g, bindings);

  const roots = [g];
  const add = (make) => {
    try {
      roots.push(make());
    } catch (e) {
      // an intrinsic this build lacks
    }
  };
  add(() => getPrototypeOf(function* () {}));
  add(() => getPrototypeOf((function* () {})()));
  add(() => getPrototypeOf(async function () {}));
  add(() => getPrototypeOf(async function* () {}));
  add(() => getPrototypeOf([][Symbol.iterator]()));
  add(() => getPrototypeOf(new Map().entries()));
  add(() => getPrototypeOf(new Set().values()));
  add(() => getPrototypeOf(''[Symbol.iterator]()));
  add(() => getPrototypeOf(/a/[Symbol.matchAll]('')));
  add(() => getPrototypeOf(Int8Array));
  add(() => getPrototypeOf(Iterator.from([]).map((x) => x)));
  add(() => getPrototypeOf(Iterator.from({ next: () => ({ done: true }) })));
  add(() => getPrototypeOf([].keys().drop(0)));
  add(
    () =>
      gopd(
        (function () {
          'use strict';
          return arguments;
        })(),
        'callee',
      ).get,
  ); // %ThrowTypeError%

  const getters = [];
  const seen = new Set();
  const queue = [];
  const visit = (v) => {
    if ((typeof v === 'object' || typeof v === 'function') && v !== null && !seen.has(v)) {
      seen.add(v);
      queue.push(v);
    }
  };
  roots.forEach(visit);

  // Pass 1: collect everything reachable (own values, accessors, prototypes), and the properties to override
  // (writable, configurable data properties with a name in OVERRIDE_NAMES).
  const overrides = [];
  for (let i = 0; i < queue.length; i++) {
    const o = queue[i];
    visit(getPrototypeOf(o));
    for (const k of ownKeys(o)) {
      const d = gopd(o, k);
      if ('value' in d) {
        visit(d.value);
        if (d.writable && d.configurable && o !== g && OVERRIDE_NAMES.has(k)) overrides.push(o, k, d);
      } else {
        visit(d.get);
        visit(d.set);
      }
    }
  }

  // Pass 2: property overrides on writable inherited names, then freeze.
  for (let i = 0; i < overrides.length; i += 3) {
    const owner = overrides[i];
    const k = overrides[i + 1];
    const d = overrides[i + 2];
    const value = d.value;
    const accessors = {
      get() {
        return value;
      },
      set(v) {
        if (this === owner)
          throw new TypeError(`Cannot assign to ${String(k)}: the built-ins are frozen in this sandbox`);
        defineProperty(this, k, { value: v, writable: true, enumerable: true, configurable: true });
      },
    };
    defineProperty(owner, k, { get: accessors.get, set: accessors.set, enumerable: d.enumerable, configurable: false });
    freeze(accessors.get);
    freeze(accessors.set);
    getters.push(accessors.get);
  }
  for (const o of queue) if (o !== g) freeze(o);

  // Existing global bindings become read-only and permanent; new ones stay possible (and are removed after a job).
  for (const k of ownKeys(g)) {
    const d = gopd(g, k);
    if ('value' in d) defineProperty(g, k, { writable: false, configurable: false });
    else defineProperty(g, k, { configurable: false });
  }
  return freeze(getters);
})();
