def post_init_hook(env):
    """Generate the demo customers, appliances, requests and work orders when the
    module is installed with demo data."""
    if env.ref("service_dispatch.product_washer_demo", raise_if_not_found=False):
        from .demo.dispatch_generator import generate_demo_dispatch

        generate_demo_dispatch(env)
