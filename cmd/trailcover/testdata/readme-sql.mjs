// Runs the SQL statements of a JSON list (the file named by the first
// argument) in one DuckDB session, in order, as a reader of the README
// would paste them; exits non-zero, naming the statement, on the first
// error. Used by TestReadmeExamples.
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

const statements = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
for (const sql of statements) {
  try {
    const reader = await conn.runAndReadAll(sql);
    console.log(JSON.stringify({ rows: reader.getRows().length }));
  } catch (e) {
    console.error(`statement failed: ${sql}\n${e}`);
    process.exit(1);
  }
}
