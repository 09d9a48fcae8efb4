def post_init_hook(env):
    """Generate the demo sessions when the module is installed with demo data."""
    if env.ref("service_evaluation.counter_xikezhan_1_demo", raise_if_not_found=False):
        from .demo.session_generator import generate_demo_sessions

        generate_demo_sessions(env)
