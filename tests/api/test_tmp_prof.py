import cProfile, pstats, io
from tests.api.test_load_shedding import *  # noqa

async def test_prof(minutes, admin_key):
    async with app_client(minutes, admin_key) as http:
        await http.post("/api/v1/stocks/chart-data", json=HEAVY)
        prof = cProfile.Profile()
        prof.enable()
        for i in range(5):
            await http.post("/api/v1/stocks/chart-data", json=HEAVY | {"max_points": 4000 - i})
        prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
    print(out.getvalue())
