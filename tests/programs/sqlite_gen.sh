#!/bin/sh
# sqlite_gen.sh ROWS: writes to stdout the SQL of the sqlite3 workload: ROWS
# orders and ROWS/10 customers inserted from recursive CTEs, two indexes,
# aggregates, a join with GROUP BY, ORDER BY on text, a window function,
# UPDATE and DELETE sweeps, then ROWS/4 single-row INSERTs (in transactions
# of 1000) and ROWS/20 point queries. Every result is deterministic.
set -eu
rows=$1
customers=$((rows / 10 + 1))
cat <<SQL
CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, city TEXT, tier INT);
CREATE TABLE orders(id INTEGER PRIMARY KEY, cust INT, amount INT, day INT, note TEXT);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $customers)
INSERT INTO customers
SELECT i, 'customer ' || i || ' ' || substr('abcdefghijklmnopqrstuvwxyz', 1 + i % 26),
       'city' || ((i * 7919) % 97), i % 5 FROM c;
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $rows)
INSERT INTO orders
SELECT i, 1 + (i * 2654435761) % $customers, (i * 40503) % 10007, i % 365,
       printf('note-%08x-', (i * 2654435761) % 4294967296) || substr('xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 1 + i % 50)
FROM c;
CREATE INDEX orders_cust ON orders(cust);
CREATE INDEX orders_day_amount ON orders(day, amount);
SELECT 'totals', count(*), sum(amount), min(amount), max(amount), sum(length(note)) FROM orders;
SELECT 'by city', c.city, count(*), sum(o.amount)
FROM customers c JOIN orders o ON o.cust = c.id
GROUP BY c.city ORDER BY 4 DESC, 2 LIMIT 10;
SELECT 'by tier', tier, count(*), round(avg(amount), 3)
FROM customers c JOIN orders o ON o.cust = c.id GROUP BY tier ORDER BY tier;
SELECT 'top notes', note FROM orders ORDER BY note DESC, id LIMIT 5;
SELECT 'days', day, count(*), sum(amount) FROM orders WHERE day BETWEEN 100 AND 110
GROUP BY day ORDER BY day;
SELECT 'ranked', cust, amount, r FROM (
    SELECT cust, amount, rank() OVER (PARTITION BY cust ORDER BY amount DESC, id) AS r FROM orders)
WHERE r = 1 ORDER BY amount DESC, cust LIMIT 10;
SELECT 'distinct', count(DISTINCT note), count(DISTINCT cust) FROM orders;
CREATE TABLE summary AS
SELECT cust, count(*) AS n, sum(amount) AS total, group_concat(day, ',') AS days
FROM orders GROUP BY cust;
SELECT 'summary', count(*), sum(n), sum(total), sum(length(days)) FROM summary;
UPDATE orders SET note = note || '-updated', amount = amount + 1 WHERE amount % 3 = 0;
DELETE FROM orders WHERE amount % 7 = 0;
SELECT 'after update', count(*), sum(amount), sum(length(note)) FROM orders;
SQL
awk -v rows="$rows" -v customers="$customers" -v q="'" 'BEGIN {
    n = int(rows / 4)
    for (i = 0; i < n; i++) {
        if (i % 1000 == 0) print "BEGIN;"
        printf "INSERT INTO orders(cust, amount, day, note) VALUES(%d, %d, %d, %s);\n",
            1 + (i * 7907) % customers, (i * 613) % 9973, i % 365,
            q "single " i q
        if (i % 1000 == 999 || i == n - 1) print "COMMIT;"
    }
    m = int(rows / 20)
    for (i = 0; i < m; i++) {
        k = 1 + (i * 104729) % customers
        printf "SELECT %d, name, (SELECT count(*) || %s || coalesce(sum(amount), 0) FROM orders WHERE cust = %d) FROM customers WHERE id = %d;\n", i, q "/" q, k, k
    }
}'
cat <<SQL
SELECT 'final', count(*), sum(amount), max(id) FROM orders;
SELECT 'final by tier', tier, count(*), sum(amount)
FROM customers c JOIN orders o ON o.cust = c.id GROUP BY tier ORDER BY tier;
SQL
