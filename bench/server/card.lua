-- wrk: the public agent card.
wrk.method = "GET"
