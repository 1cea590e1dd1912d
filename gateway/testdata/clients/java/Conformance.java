// Client conformance checks for pgjdbc (what DBeaver, DataGrip, Metabase
// and Tableau use). Run by gateway/clients_test.go as a single-file source
// program: java -cp postgresql.jar Conformance.java <url> <user> <password> <mode>.
// Prints one "key=value" line per check; the Go test compares them with
// values worked out by hand. A check that throws prints "key=ERR <message>".
import java.sql.*;
import java.time.*;
import java.util.*;

public class Conformance {
    interface Check { Object run() throws Exception; }

    static void check(String key, Check c) {
        Object v;
        try {
            v = c.run();
        } catch (Exception e) {
            String m = String.valueOf(e.getMessage());
            v = "ERR " + m.split("\n")[0];
        }
        System.out.println(key + "=" + v);
    }

    static String one(PreparedStatement ps) throws SQLException {
        try (ResultSet rs = ps.executeQuery()) {
            ResultSetMetaData md = rs.getMetaData();
            StringBuilder names = new StringBuilder();
            for (int i = 1; i <= md.getColumnCount(); i++) names.append(i > 1 ? "," : "").append(md.getColumnLabel(i));
            rs.next();
            StringBuilder vals = new StringBuilder();
            for (int i = 1; i <= md.getColumnCount(); i++) vals.append(i > 1 ? "|" : "").append(rs.getString(i));
            return names + ":" + vals;
        }
    }

    // shape is "<rows> rows:<column labels>" of a metadata result set.
    static String shape(ResultSet rs) throws SQLException {
        try (rs) {
            ResultSetMetaData md = rs.getMetaData();
            StringBuilder names = new StringBuilder();
            for (int i = 1; i <= md.getColumnCount(); i++) names.append(i > 1 ? "," : "").append(md.getColumnLabel(i));
            int n = 0;
            while (rs.next()) n++;
            return n + " rows:" + names;
        }
    }

    public static void main(String[] a) throws Exception {
        try (Connection c = DriverManager.getConnection(a[0], a[1], a[2])) {
            if (a[3].equals("refused")) {
                check("jdbc.refused", () -> {
                    try (Statement s = c.createStatement()) {
                        s.executeQuery("select count(*) from conversations");
                        return "read";
                    } catch (SQLException e) {
                        return e.getSQLState();
                    }
                });
                check("jdbc.tables", () -> {
                    List<String> names = new ArrayList<>();
                    try (ResultSet rs = c.getMetaData().getTables(null, "main", "%", new String[]{"TABLE", "VIEW"})) {
                        while (rs.next()) names.add(rs.getString("TABLE_NAME"));
                    }
                    return names.contains("conversations");
                });
                check("jdbc.columns", () -> {
                    List<String> cols = new ArrayList<>();
                    try (ResultSet rs = c.getMetaData().getColumns(null, "main", "conversations", "%")) {
                        while (rs.next()) cols.add(rs.getString("COLUMN_NAME"));
                    }
                    return String.join(",", cols);
                });
                return;
            }
            check("jdbc.product", () -> c.getMetaData().getDatabaseProductVersion());
            check("jdbc.tables", () -> {
                List<String> names = new ArrayList<>();
                try (ResultSet rs = c.getMetaData().getTables(null, "main", "%", new String[]{"TABLE"})) {
                    while (rs.next()) names.add(rs.getString("TABLE_NAME"));
                }
                Collections.sort(names);
                return String.join(",", names);
            });
            check("jdbc.columns", () -> {
                List<String> cols = new ArrayList<>();
                try (ResultSet rs = c.getMetaData().getColumns(null, "main", "contacts", "%")) {
                    while (rs.next()) cols.add(rs.getString("COLUMN_NAME") + ":" + rs.getString("TYPE_NAME"));
                }
                return String.join(",", cols);
            });
            // No relation has a primary key and the warehouse defines no
            // function: both are empty, with JDBC's columns.
            check("jdbc.primaryKeys", () -> shape(c.getMetaData().getPrimaryKeys(null, "main", "kpi_daily")));
            check("jdbc.functions", () -> shape(c.getMetaData().getFunctions(null, "main", "%")));
            check("jdbc.indexInfo", () -> shape(c.getMetaData().getIndexInfo(null, "main", "kpi_daily", false, true)));
            check("jdbc.importedKeys", () -> shape(c.getMetaData().getImportedKeys(null, "main", "kpi_daily")));
            check("jdbc.setDate", () -> {
                try (PreparedStatement ps = c.prepareStatement("select ?::date + 1 as d")) {
                    ps.setDate(1, java.sql.Date.valueOf("2026-11-20"));
                    return one(ps);
                }
            });
            check("jdbc.setTimestamp", () -> {
                try (PreparedStatement ps = c.prepareStatement("select cast(? as timestamp) + interval '1 hour' as t")) {
                    ps.setTimestamp(1, Timestamp.valueOf("2026-11-20 01:02:03"));
                    return one(ps);
                }
            });
            check("jdbc.setObject.offsetDateTime", () -> {
                try (PreparedStatement ps = c.prepareStatement("select cast(? as timestamptz) as t")) {
                    ps.setObject(1, OffsetDateTime.of(2026, 11, 20, 1, 2, 3, 0, ZoneOffset.UTC));
                    return one(ps);
                }
            });
            check("jdbc.array", () -> {
                try (PreparedStatement ps = c.prepareStatement(
                        "select count(*) as n from (values ('email'), ('sms'), ('chat')) v(c) where c = any(?)")) {
                    ps.setArray(1, c.createArrayOf("text", new String[]{"email", "sms"}));
                    return one(ps);
                }
            });
            check("jdbc.fetchSize", () -> {
                c.setAutoCommit(false);
                try (PreparedStatement ps = c.prepareStatement("select x from range(10) t(x) order by x")) {
                    ps.setFetchSize(3);
                    long sum = 0;
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) sum += rs.getLong(1);
                    }
                    return sum;
                } finally {
                    c.commit();
                    c.setAutoCommit(true);
                }
            });
        }
    }
}
