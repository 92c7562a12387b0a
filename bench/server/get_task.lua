-- wrk: GetTask for one finished task. ARES_KEY and ARES_TASK come from the environment.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["A2A-Version"] = "1.0"
if os.getenv("ARES_KEY") and os.getenv("ARES_KEY") ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("ARES_KEY")
end
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"' .. os.getenv("ARES_TASK") .. '"}}'
