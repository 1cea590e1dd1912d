"""Client conformance checks for psycopg2, psycopg 3 and SQLAlchemy.

Run by gateway/clients_test.go against a gateway it started, with PGHOST,
PGPORT, PGDATABASE, PGUSER and PGPASSWORD set. Prints one "key=value" line
per check; the Go test compares them with values worked out by hand. A
check that raises prints "key=ERR <first line of the error>".

argv[1] is "analyst" (the checks) or "refused" (a role that must be
refused conversations).
"""
import datetime
import decimal
import io
import os
import sys


def check(key, f):
    try:
        v = f()
    except Exception as e:  # printed, compared by the Go test
        v = "ERR " + (str(e).strip().splitlines() or [type(e).__name__])[0]
    print("%s=%s" % (key, v), flush=True)


def one(conn, q, args=None):
    cur = conn.cursor()
    cur.execute(q, args)
    row = cur.fetchone()
    names = ",".join(d[0] for d in cur.description)
    cur.close()
    return "%s:%s" % (names, "|".join(str(v) for v in row))


def url(driver):
    e = os.environ
    return "postgresql+%s://%s:%s@%s:%s/%s" % (driver, e["PGUSER"], e["PGPASSWORD"], e["PGHOST"], e["PGPORT"], e["PGDATABASE"])


def analyst():
    import psycopg2
    import psycopg
    import sqlalchemy as sa

    c2 = psycopg2.connect("")
    c2.autocommit = True
    check("pg2.version", lambda: one(c2, "select version()").split(" (")[0])
    check("pg2.date", lambda: one(c2, "select %s::date + 1 as d", (datetime.date(2026, 11, 20),)))
    check("pg2.timestamptz", lambda: one(c2, "select %s + interval '1 hour' as t",
                                         (datetime.datetime(2026, 11, 20, 1, 2, 3, tzinfo=datetime.timezone.utc),)))
    check("pg2.decimal", lambda: one(c2, "select %s * 2 as x", (decimal.Decimal("1.25"),)))
    check("pg2.list", lambda: one(c2, "select count(*) as n from (values ('email'), ('sms'), ('chat')) v(c) where c = any(%s)",
                                  (["email", "sms"],)))
    check("pg2.unaliased", lambda: one(c2, "select count(*), min(d) from (values (date '2026-11-02'), (date '2026-11-01')) v(d)"))

    def copy():
        f = io.StringIO()
        cur = c2.cursor()
        cur.copy_expert("COPY (select 1 as a, 'x' as b union all select 2, 'y' order by a) TO STDOUT WITH CSV HEADER", f)
        return f.getvalue().replace("\n", "/")
    check("pg2.copy", copy)

    def named():
        c = psycopg2.connect("")
        cur = c.cursor("cxlake_named")
        cur.itersize = 2
        cur.execute("select x from range(5) t(x) order by x")
        got = [r[0] for r in cur]
        c.rollback()
        c.close()
        return ",".join(map(str, got))
    check("pg2.named_cursor", named)

    c3 = psycopg.connect("", autocommit=True)
    check("pg3.date", lambda: one(c3, "select %s::date + 1 as d", (datetime.date(2026, 11, 20),)))
    check("pg3.datetime", lambda: one(c3, "select %s as t", (datetime.datetime(2026, 11, 20, 1, 2, 3),)))
    check("pg3.timestamptz", lambda: one(c3, "select %s + interval '1 hour' as t",
                                         (datetime.datetime(2026, 11, 20, 1, 2, 3, tzinfo=datetime.timezone.utc),)))
    check("pg3.decimal", lambda: one(c3, "select %s * 2 as x", (decimal.Decimal("1.25"),)))
    check("pg3.list", lambda: one(c3, "select count(*) as n from (values ('email'), ('sms'), ('chat')) v(c) where c = any(%s)",
                                  (["email", "sms"],)))

    def timeout():
        # The gateway under test has a 30 s ceiling: ending within 10 s
        # is the session's 1 s.
        import time
        c = psycopg.connect("", autocommit=True)
        c.execute("set statement_timeout = '1s'")
        start = time.monotonic()
        try:
            c.execute("select count(*) from range(1000000000000) a")
            return "ran"
        except psycopg.Error as e:
            return "%s within 10s: %s" % (e.sqlstate, time.monotonic() - start < 10)
        finally:
            c.close()
    check("pg3.statement_timeout", timeout)

    eng = sa.create_engine(url("psycopg2"))
    with eng.connect() as conn:
        check("sa.connect", lambda: conn.execute(sa.text("select :d + 1 as d"), {"d": 41}).scalar())
        ins = sa.inspect(conn)
        check("sa.tables", lambda: ",".join(sorted(ins.get_table_names())))
        check("sa.views", lambda: ",".join(sorted(ins.get_view_names())))
        check("sa.columns", lambda: ",".join("%s:%s" % (c["name"], c["type"]) for c in ins.get_columns("contacts")[:3]))
        check("sa.reflect", lambda: len(sa.Table("kpi_daily", sa.MetaData(), autoload_with=conn).columns) > 10)


def refused():
    import psycopg2
    import sqlalchemy as sa

    c2 = psycopg2.connect("")

    def read():
        try:
            one(c2, "select count(*) from conversations")
            return "read"
        except psycopg2.Error as e:
            return e.pgcode
    check("pg2.refused", read)
    eng = sa.create_engine(url("psycopg2"))
    with eng.connect() as conn:
        check("sa.tables", lambda: "conversations" in sa.inspect(conn).get_table_names() + sa.inspect(conn).get_view_names())
        # conversations exists, but this role does not read it.
        check("sa.columns", lambda: len(sa.inspect(conn).get_columns("conversations")))


{"analyst": analyst, "refused": refused}[sys.argv[1]]()
