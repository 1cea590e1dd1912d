// Client conformance checks for node-pg (npm "pg" 8). Run by
// gateway/clients_test.go with PGHOST, PGPORT, PGDATABASE, PGUSER and
// PGPASSWORD set and NODE_PATH pointing at a node_modules holding pg.
// Prints one "key=value" line per check; the Go test compares them with
// values worked out by hand. A check that throws prints "key=ERR <message>".
const { Client } = require('pg');

async function check(key, f) {
  let v;
  try {
    v = await f();
  } catch (e) {
    v = 'ERR ' + String(e.message).split('\n')[0];
  }
  console.log(key + '=' + v);
}

async function one(c, text, values) {
  const r = await c.query(text, values);
  const names = r.fields.map((f) => f.name).join(',');
  const row = r.rows[0];
  return names + ':' + r.fields.map((f) => {
    const v = row[f.name];
    return v instanceof Date ? v.toISOString() : String(v);
  }).join('|');
}

async function main() {
  const c = new Client();
  await c.connect();
  try {
    if (process.argv[2] === 'refused') {
      await check('node.refused', async () => {
        try {
          await c.query('select count(*) from conversations');
          return 'read';
        } catch (e) {
          return e.code;
        }
      });
      return;
    }
    await check('node.params', () => one(c, 'select $1::int + 1 as n, $2::text as s', [41, 'sms']));
    await check('node.date', () => one(c, 'select $1::timestamptz + interval \'1 day\' as t',
      [new Date(Date.UTC(2026, 10, 20, 0, 0, 0))]));
    await check('node.array', () => one(c,
      "select count(*)::int as n from (values ('email'), ('sms'), ('chat')) v(c) where c = any($1)", [['email', 'sms']]));
  } finally {
    await c.end();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
