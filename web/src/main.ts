import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { createAppRouter } from './router';
import { adoptTokenFromUrl } from './stores/auth';
import './styles.css';

// Before the router reads the address: the fragment carries the token, not a route.
adoptTokenFromUrl();
createApp(App).use(createPinia()).use(createAppRouter()).mount('#app');
