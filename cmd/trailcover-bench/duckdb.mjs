// trailcover-bench's DuckDB contestant: runs the SQL statement in the
// file named by the first argument with @duckdb/node-api, on every core
// (DuckDB's default), and prints the rows it wrote and DuckDB's version.
import { readFileSync } from 'node:fs';
import { DuckDBInstance, version } from '@duckdb/node-api';

const sql = readFileSync(process.argv[2], 'utf8');
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
// Rows may be written in any order, as trailcover's are: this lets
// DuckDB write Parquet from all its threads.
await conn.run('SET preserve_insertion_order = false');
const result = await conn.run(sql);
console.log(JSON.stringify({ rows: Number(result.rowsChanged), version: version() }));
